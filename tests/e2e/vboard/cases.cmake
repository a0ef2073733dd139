# The test cases: each runs vboard on one test program and checks exit status and output.
set(F ${VBT_OUT})
vbt_case(regs
    CHECKS --expect "^ALL PASS" --reject "FAIL" --expect "HCLK 180000000 Hz"
    ARGS --flash ${F}/regs.flash --fresh --load ${F}/t_regs.elf --stop-on "ALL PASS"
         --timeout-ms 2000)
vbt_case(exceptions
    CHECKS --expect "^ALL PASS" --reject "FAIL"
    ARGS --flash ${F}/exc.flash --fresh --load ${F}/t_exc.elf --stop-on "ALL PASS"
         --timeout-ms 2000)
# Flash interface; also: the flash file keeps what the program wrote (marker in sector 2) and
# the reset is counted in the summary.
vbt_case(flash
    CHECKS --expect "^ALL PASS" --reject "FAIL" --hex-file ${F}/flash.flash 0x8000 a5a5a5a5
           --expect "resets: 1 \\(software 1, iwdg 0, power cut 0\\)"
           --expect "sector erases: s0=0 s1=0 s2=0 s3=3 s4=1 s5=0 s6=0 s7=0"
           --expect "wrong key sequence"
    ARGS --flash ${F}/flash.flash --fresh --load ${F}/t_flash.elf --stop-on "ALL PASS"
         --timeout-ms 5000 --wrp-sectors 0x80 --summary)
