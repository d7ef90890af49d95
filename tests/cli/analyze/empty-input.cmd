# an empty message on standard input: every section says none
smexop analyze
