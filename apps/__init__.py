"""The bounded contexts. Each one owns its models and database alias and is reached through its port."""
