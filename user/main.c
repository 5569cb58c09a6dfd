/* Placeholder until the agent's main loop lands. */
int main(void)
{
	return 0;
}
