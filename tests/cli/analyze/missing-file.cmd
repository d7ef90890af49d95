# a file that is not there: exit 2
smexop analyze @TMP@/nothing.eml
exit 2
