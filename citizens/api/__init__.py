"""The consultation API for partner apps acting for one consenting citizen."""
