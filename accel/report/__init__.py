"""Report rendering: tables, plots and Markdown pages built from recorded results (JSON/CSV)."""
