/* scenario/lua_host.c - being written. */
