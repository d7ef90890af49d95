# an unknown subcommand
smexop dkim frobnicate
exit 2
