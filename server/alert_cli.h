/* srvmon-server alert add|set|list|del: alert rules from the command line (docs/server.md). */
#ifndef SRVMON_SERVER_ALERT_CLI_H
#define SRVMON_SERVER_ALERT_CLI_H

/* argv[0] is "alert". Returns the exit status (0, 1 failure, 2 usage). */
int cmd_alert(int argc, char **argv);

#endif
