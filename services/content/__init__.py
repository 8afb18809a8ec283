"""content: content items, collateral files, queries and complaints."""
