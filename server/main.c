/* Placeholder until srvmon-server lands. */
int main(void)
{
	return 0;
}
