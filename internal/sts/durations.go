package sts

import "time"

func secondsDuration(s int32) time.Duration { return time.Duration(s) * time.Second }
