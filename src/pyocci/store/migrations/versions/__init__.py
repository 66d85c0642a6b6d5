"""The store's chain of Alembic revisions (label ``store``), oldest first.

``0001_initial`` creates the user mixin tables. Databases made before each
backend had a branch of its own also got the sim's tables from it, and
``0002_listing_index`` changed one of their indexes; the sim's branch now
creates those tables, and takes over such databases as they are.
"""
