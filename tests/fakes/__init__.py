"""Local HTTP servers that speak the OpenAI, Anthropic and Gemini protocols, for tests."""
