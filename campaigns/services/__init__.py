"""The services of campaigns (the only code that changes their state): uploading, then sending."""
