"""audit: the server log store — chained events, compliance search and export, integrity, trends,
disclosures and retention."""
