# The benchmark is run by scripts/bench.sh, never by pytest: it starts its own PostgreSQL
# and server and takes minutes. Nothing here is collected, whatever it is named.
collect_ignore_glob = ["*.py"]
