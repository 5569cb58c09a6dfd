/* `srvmon-agent speedtest [--server URL] [--json]`: one test on demand. */
#ifndef SRVMON_SPEEDTEST_CLI_H
#define SRVMON_SPEEDTEST_CLI_H

/* argv[0] is "speedtest". Returns the exit status: 0 ok, 1 test failed, 2 usage, 78 config. */
int speedtest_cli_main(int argc, char **argv);

#endif
