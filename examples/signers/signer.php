<?php
while (($line = fgets(STDIN)) !== false) {
    $case = json_decode($line, true, 512, JSON_BIGINT_AS_STRING);
    $params = $case['params'];
    uksort($params, fn($a, $b) => strcmp(mb_convert_encoding($a, 'UTF-16BE', 'UTF-8'),
                                         mb_convert_encoding($b, 'UTF-16BE', 'UTF-8')));
    $s = '';
    foreach ($params as $k => $v) {
        $v = $v === null ? 'null' : (is_bool($v) ? ($v ? 'true' : 'false') : (string) $v);
        if ($k !== 'sign' && $v !== '') $s .= $k . '=' . $v;
    }
    echo md5($s . $case['secret']), "\n";
    flush();
}
