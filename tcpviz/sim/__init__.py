"""The connection simulator: segments, the endpoint (RFC 9293 3.10), the network, the clock."""
