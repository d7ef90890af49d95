# an unknown area: usage error, exit 2
smexop check-domain example.com --only spf,nope
exit 2
