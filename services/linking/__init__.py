"""linking: companies, link requests, manager approvals and members."""
