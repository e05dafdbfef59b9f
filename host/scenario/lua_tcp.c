/* scenario/lua_tcp.c - being written. */
