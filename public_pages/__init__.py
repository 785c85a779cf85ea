"""The public pages: home, the directory of sending organisations, the statistics and their rollups."""
