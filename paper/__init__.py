"""The platform's paper service: letters queued for print, print runs for the provider, their acknowledgement."""
