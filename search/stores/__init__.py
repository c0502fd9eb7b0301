"""Where an index lives: generations on this disk, or shards on other machines."""
