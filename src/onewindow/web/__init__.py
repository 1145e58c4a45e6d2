"""Server-rendered pages (Jinja2), every asset shipped in the package."""
