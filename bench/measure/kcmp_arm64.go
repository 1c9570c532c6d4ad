package main

const sysKcmp = 272 // kcmp(2) on linux/arm64
