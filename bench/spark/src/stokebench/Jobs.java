package stokebench;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import scala.Tuple2;

/**
 * The Spark side of the Stoke-vs-Spark benchmarks: the jobs of bench/jobs,
 * with the RDD API through JavaSparkContext (no Python), printing the same
 * checksum line ("checksum: JOB n=... total=... hash=...", see
 * bench/internal/check).
 *
 * <pre>
 * spark-submit --master local[2] --class stokebench.Jobs jobs.jar [-p N] wordcount IN
 *                                                                  group IN
 *                                                                  join SMALL BIG
 *                                                                  sort IN OUT
 * </pre>
 *
 * -p N sets the partitions of each shuffle (0: Spark's default).
 */
public final class Jobs {
    private Jobs() {}

    /** Sum summarizes records: how many, a total of their counts, the sum of their hashes. */
    public static final class Sum implements Serializable {
        private static final long serialVersionUID = 1L;
        final long n;
        final long total;
        final long hash;

        Sum(long n, long total, long hash) {
            this.n = n;
            this.total = total;
            this.hash = hash;
        }

        static Sum add(Sum a, Sum b) {
            return new Sum(a.n + b.n, a.total + b.total, a.hash + b.hash);
        }

        String line(String job) {
            return String.format("checksum: %s n=%d total=%d hash=%016x", job, n, total, hash);
        }
    }

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    /** FNV-1a 64 of the UTF-8 bytes of fields joined by a tab, as check.Hash in Go. */
    static long hash(String... fields) {
        long h = FNV_OFFSET;
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) {
                h ^= '\t';
                h *= FNV_PRIME;
            }
            h = hashInto(h, fields[i]);
        }
        return h;
    }

    private static long hashInto(long h, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80) { // not ASCII: hash the UTF-8 encoding instead
                for (byte b : s.substring(i).getBytes(StandardCharsets.UTF_8)) {
                    h ^= (b & 0xff);
                    h *= FNV_PRIME;
                }
                return h;
            }
            h ^= c;
            h *= FNV_PRIME;
        }
        return h;
    }

    /** utf8Length is the length of s in UTF-8 bytes, as len(s) in Go. */
    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /**
     * The word count's tokenizer, as Go's
     * strings.FieldsFunc(strings.ToLower(line), func(r) bool { return !unicode.IsLetter(r) && r != '\'' }).
     */
    static List<String> tokenize(String line) {
        String s = line.toLowerCase(Locale.ROOT);
        List<String> words = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            boolean inWord = Character.isLetter(cp) || cp == '\'';
            if (inWord && start < 0) {
                start = i;
            } else if (!inWord && start >= 0) {
                words.add(s.substring(start, i));
                start = -1;
            }
            i += Character.charCount(cp);
        }
        if (start >= 0) {
            words.add(s.substring(start));
        }
        return words;
    }

    /** parseKV splits "key\tvalue"; a line without a tab is a key with an empty value. */
    static Tuple2<String, String> parseKV(String line) {
        int tab = line.indexOf('\t');
        if (tab < 0) {
            return new Tuple2<>(line, "");
        }
        return new Tuple2<>(line.substring(0, tab), line.substring(tab + 1));
    }

    private static void usage() {
        System.err.println("usage: Jobs [-p N] wordcount IN | group IN | join SMALL BIG | sort IN OUT");
        System.exit(2);
    }

    public static void main(String[] argv) {
        List<String> args = new ArrayList<>(Arrays.asList(argv));
        int p = 0;
        if (args.size() >= 2 && args.get(0).equals("-p")) {
            try {
                p = Integer.parseInt(args.get(1));
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 0) {
                System.err.println("Jobs: -p must be 0 (the default) or more, got " + args.get(1));
                System.exit(2);
            }
            args = args.subList(2, args.size());
        }
        if (args.isEmpty()) {
            usage();
        }
        String job = args.get(0);
        int want;
        switch (job) {
            case "wordcount":
            case "group":
                want = 2;
                break;
            case "join":
            case "sort":
                want = 3;
                break;
            default:
                want = -1;
        }
        if (args.size() != want) {
            usage();
        }
        final int parts = p;
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("bench-" + job))) {
            switch (job) {
                case "wordcount": {
                    JavaPairRDD<String, Integer> ones = sc.textFile(args.get(1))
                            .flatMap(line -> tokenize(line).iterator())
                            .mapToPair(w -> new Tuple2<>(w, 1));
                    JavaPairRDD<String, Integer> counts = parts > 0
                            ? ones.reduceByKey(Integer::sum, parts)
                            : ones.reduceByKey(Integer::sum);
                    print(job, counts.map(kv -> new Sum(1, kv._2, hash(kv._1, Integer.toString(kv._2)))));
                    break;
                }
                case "group": {
                    JavaPairRDD<String, String> kvs = sc.textFile(args.get(1)).mapToPair(Jobs::parseKV);
                    JavaPairRDD<String, Iterable<String>> groups = parts > 0 ? kvs.groupByKey(parts) : kvs.groupByKey();
                    print(job, groups.map(kv -> {
                        long n = 0;
                        long h = 0;
                        for (String v : kv._2) {
                            n++;
                            h += hash(kv._1, v);
                        }
                        return new Sum(1, n, h);
                    }));
                    break;
                }
                case "join": {
                    JavaPairRDD<String, String> small = sc.textFile(args.get(1)).mapToPair(Jobs::parseKV);
                    JavaPairRDD<String, String> big = sc.textFile(args.get(2)).mapToPair(Jobs::parseKV);
                    JavaPairRDD<String, Tuple2<String, String>> joined = parts > 0 ? small.join(big, parts) : small.join(big);
                    print(job, joined.map(kv -> new Sum(1, utf8Length(kv._2._1) + utf8Length(kv._2._2), hash(kv._1, kv._2._1, kv._2._2))));
                    break;
                }
                case "sort": {
                    JavaPairRDD<String, String> kvs = sc.textFile(args.get(1)).mapToPair(Jobs::parseKV);
                    JavaPairRDD<String, String> sorted = parts > 0 ? kvs.sortByKey(true, parts) : kvs.sortByKey(true);
                    sorted.map(kv -> kv._1 + "\t" + kv._2).saveAsTextFile(args.get(2));
                    System.out.println("sorted " + args.get(1) + " into " + args.get(2));
                    break;
                }
                default:
                    usage();
            }
        }
    }

    private static void print(String job, JavaRDD<Sum> sums) {
        // fold, not isEmpty + reduce: one job, as Stoke's Reduce.
        Sum s = sums.fold(new Sum(0, 0, 0), Sum::add);
        System.out.println(s.line(job));
    }
}
