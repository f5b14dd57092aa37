#!/usr/bin/env bash
# Prints the home of a JDK >= 22 (pml4 needs the FFM API, final since Java 22), preferring
# $JAVA_HOME, then Temurin 25, then any JDK under /usr/lib/jvm, then the java on PATH.
# Exits 1 with advice when there is none.
set -u
major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'; }
candidates=()
[ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*)
if command -v java >/dev/null 2>&1; then
  candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
fi
for d in "${candidates[@]}"; do
  [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
  m=$(major "$d")
  if [ -n "$m" ] && [ "$m" -ge 22 ]; then
    echo "$d"
    exit 0
  fi
done
cat >&2 <<'MSG'
pml4 needs a JDK 22 or newer (it uses the FFM API, java.lang.foreign), and none was found
in $JAVA_HOME, /usr/lib/jvm or on PATH. Install one, for example Eclipse Temurin 25
(https://adoptium.net: package temurin-25-jdk) or your distribution's openjdk-25-jdk,
then run make again (or point JAVA_HOME at it).
MSG
exit 1
