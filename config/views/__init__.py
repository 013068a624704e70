"""Pages that combine the apps: the dashboard, the partners' combined work list, the case list and page."""
