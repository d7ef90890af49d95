# not a certificate: exit 2
smexop tlsa @CASES@/spki.cmd
exit 2
