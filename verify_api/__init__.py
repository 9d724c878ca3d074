"""The verification service (Flask): consumer scans, dispatch scans, HQ endpoints."""
