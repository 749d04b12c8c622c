/* PLACEHOLDER: replaced by the daemon's entry point. */
int main(void)
{
	return 0;
}
