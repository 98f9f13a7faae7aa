"""One router per domain; each handler parses, calls the domain function, and returns."""
