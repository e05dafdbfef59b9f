/* cli_plugins.c - being written. */
