"""What people read: terminal tables, charts and the HTML report, printed from the typed results."""
