/* Placeholder: account passwords (argon2id) land here with srvmon-server. */
