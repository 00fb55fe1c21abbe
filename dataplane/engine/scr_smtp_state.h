struct scr_smtp { unsigned char placeholder; };
