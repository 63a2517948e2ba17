"""Real traffic: packet capture replay and this machine's live sockets."""
