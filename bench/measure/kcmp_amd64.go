package main

const sysKcmp = 312 // kcmp(2) on linux/amd64
