# a recipient without a domain: usage error, exit 2
smexop send --mail-from a@example.org --rcpt nobody
exit 2
