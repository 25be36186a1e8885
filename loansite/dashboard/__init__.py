"""The analytics dashboard (the admin index) and its figures: selectors read, views show."""
