"""Local fakes of remote services (127.0.0.1 servers replaying documented shapes)."""
