# smexop dkim alone prints the usage
smexop dkim
exit 2
