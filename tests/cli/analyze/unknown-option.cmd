# an unknown option: exit 2
smexop analyze --frobnicate
exit 2
