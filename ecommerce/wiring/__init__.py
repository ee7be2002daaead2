"""How each process is put together: which adapter answers a port (resolver, cut-over, shadow
run), which database holds each app (the router), what `make run` starts and where each app runs
(launch, topology), and the failpoints a test arms through the environment."""
