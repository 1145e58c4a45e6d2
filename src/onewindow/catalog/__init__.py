"""Catalogue (事项目录): departments, staff, service items and their process versions."""
