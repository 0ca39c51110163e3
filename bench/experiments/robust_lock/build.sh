#!/bin/sh
set -e
cd "$(dirname "$0")"
g++ -std=c++20 -O2 -pthread -Wall -Wextra -o lockexp lockexp.cpp
