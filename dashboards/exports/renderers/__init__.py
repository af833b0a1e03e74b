"""One renderer per format: content (and rows) in, a file out. No database writes."""
