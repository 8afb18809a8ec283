"""The pages' rules that need no Flask: form tokens, safe return paths, asset versions."""
